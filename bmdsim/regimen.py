"""Regimens: which agent, from when, until when.

A :class:`Regimen` is a set of :class:`Exposure` objects. Natural
postmenopausal loss is always present and is not listed. Times are in years
from the baseline scan (time zero).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from . import limits
from ._validation import as_finite_float, check_choice, check_range


def _agent_names() -> tuple[str, ...]:
    from .agents import AGENTS

    return tuple(AGENTS)


@dataclass(frozen=True)
class Exposure:
    """One course of one agent.

    Parameters
    ----------
    agent : str
        An agent name, one of :data:`bmdsim.AGENTS`.
    start : float
        Start [years from baseline]. May be negative for a course that began
        before the baseline scan (``limits.EXPOSURE_START_YEARS``).
    stop : float or None
        Stop [years from baseline], after ``start``. ``None`` or ``math.inf``
        means the course continues past any horizon.
    """

    agent: str
    start: float = 0.0
    stop: float | None = None

    def __post_init__(self) -> None:
        check_choice("agent", self.agent, _agent_names())
        start = as_finite_float(f"start of {self.agent}", self.start)
        check_range(f"start of {self.agent}", np.asarray(start), *limits.EXPOSURE_START_YEARS, unit="years")
        if self.stop is None:
            stop = math.inf
        else:
            if isinstance(self.stop, bool) or not isinstance(self.stop, (int, float, np.integer, np.floating)):
                raise TypeError(f"stop of {self.agent} must be a number of years or None, got {self.stop!r}")
            stop = float(self.stop)
            if math.isnan(stop) or stop == -math.inf:
                raise ValueError(f"stop of {self.agent} must be a number of years or None, got {stop!r}")
            if stop <= start:
                raise ValueError(f"stop of {self.agent} ({stop:g} years) must come after its start ({start:g} years)")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "stop", stop)

    @property
    def duration(self) -> float:
        """Length of the course [years] (``inf`` if it never stops)."""
        return self.stop - self.start


class Regimen:
    """A set of exposures.

    Parameters
    ----------
    exposures : iterable of Exposure
        Courses of the agents. Courses of the same agent must not overlap;
        courses of different agents may (their effects combine by adding
        rates, see :mod:`bmdsim.agents`).

    Examples
    --------
    >>> Regimen([Exposure("aromatase_inhibitor", start=0, stop=5)])
    Regimen([Exposure(agent='aromatase_inhibitor', start=0.0, stop=5.0)])
    """

    def __init__(self, exposures: Iterable[Exposure] = ()) -> None:
        if isinstance(exposures, Exposure):
            exposures = [exposures]
        exposures = list(exposures)
        for i, e in enumerate(exposures):
            if not isinstance(e, Exposure):
                raise TypeError(f"exposures[{i}] must be a bmdsim.Exposure, got {type(e).__name__}")
        ordered = sorted(exposures, key=lambda e: (e.agent, e.start))
        for a, b in zip(ordered, ordered[1:], strict=False):
            if a.agent == b.agent and b.start < a.stop:
                raise ValueError(
                    f"exposures of {a.agent} overlap: [{a.start:g}, {a.stop:g}) and [{b.start:g}, {b.stop:g}) "
                    "years; courses of the same agent must not overlap"
                )
        self._exposures = tuple(sorted(exposures, key=lambda e: (e.start, e.agent)))

    def __iter__(self) -> Iterator[Exposure]:
        return iter(self._exposures)

    def __len__(self) -> int:
        return len(self._exposures)

    def __repr__(self) -> str:
        return f"Regimen({list(self._exposures)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Regimen) and self._exposures == other._exposures

    def __hash__(self) -> int:
        return hash(self._exposures)

    @property
    def exposures(self) -> tuple[Exposure, ...]:
        """The exposures, ordered by start."""
        return self._exposures

    def breakpoints(self) -> tuple[float, ...]:
        """Every finite start and stop time [years], sorted, without duplicates."""
        times = {t for e in self._exposures for t in (e.start, e.stop) if math.isfinite(t)}
        return tuple(sorted(times))
