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
from ._validation import as_finite_float, bounded_items, check_choice, check_range
from .agents import AGENTS

#: Shortest interval [years] between the scans that detect a crossing: one day. Finer intervals describe no
#: scan schedule, and intervals near zero would overflow ``crossing / interval`` (the course would silently
#: never start).
MIN_SCAN_INTERVAL_YEARS = 1.0 / 365.25

#: Longest scan interval and longest delay [years]: the longest simulation horizon. Beyond it no scan or
#: start falls within any simulation, so a larger value is a unit mistake.
MAX_EVENT_YEARS = limits.HORIZON_YEARS[1]

#: Most courses in one regimen. A design limit: far more than any adjuvant schedule (5-10 years of endocrine
#: therapy, a switch, a few bone-protective courses), while the exact crossing search's cost grows with the
#: square of the number of courses (about 5 s per 1000 patients at 20 courses with an event start, 50 s at 50).
MAX_EXPOSURES = 20


@dataclass(frozen=True)
class AtThreshold:
    """An event start: when the T-score at ``site`` first reaches ``threshold``.

    Parameters
    ----------
    site : str
        Site whose T-score is watched (the patient must have a baseline value there).
    threshold : float
        T-score [SD]; reached when the T-score is at or below it.
    scan_interval : float or None
        If given [years], in ``[MIN_SCAN_INTERVAL_YEARS, MAX_EVENT_YEARS]``
        (one day to 60 years), the crossing is only seen at DXA scans at
        ``0, scan_interval, 2 scan_interval, ...``: the exposure starts at the
        first scan at or after the true crossing. None: seen at once.
    delay : float
        Years between detection and the start, in ``[0, MAX_EVENT_YEARS]`` (default 0).

    Notes
    -----
    The crossing is computed exactly (:mod:`bmdsim.crossing`) on the regimen's
    other exposures with fixed times and on event exposures listed before
    this one. A patient who does not reach the threshold within the
    simulation horizon never starts.
    """

    site: str
    threshold: float
    scan_interval: float | None = None
    delay: float = 0.0

    def __post_init__(self) -> None:
        from .sites import check_site

        check_site(self.site, "AtThreshold site")
        object.__setattr__(self, "threshold", as_finite_float("AtThreshold threshold", self.threshold))
        if self.scan_interval is not None:
            interval = as_finite_float("AtThreshold scan_interval", self.scan_interval)
            if interval <= 0:
                raise ValueError(f"AtThreshold scan_interval must be a positive number of years, got {interval:g}")
            if not MIN_SCAN_INTERVAL_YEARS <= interval <= MAX_EVENT_YEARS:
                raise ValueError(
                    f"AtThreshold scan_interval must lie in [{MIN_SCAN_INTERVAL_YEARS:.6g}, {MAX_EVENT_YEARS:g}] years "
                    f"(one day to the longest horizon), got {interval!r}"
                )
            object.__setattr__(self, "scan_interval", interval)
        delay = as_finite_float("AtThreshold delay", self.delay)
        if delay < 0:
            raise ValueError(f"AtThreshold delay must be >= 0 years, got {delay:g}")
        if delay > MAX_EVENT_YEARS:
            raise ValueError(
                f"AtThreshold delay must be at most {MAX_EVENT_YEARS:g} years (the longest horizon), got {delay:g}"
            )
        object.__setattr__(self, "delay", delay)


@dataclass(frozen=True)
class Exposure:
    """One course of one agent.

    Parameters
    ----------
    agent : str
        An agent name, one of :data:`bmdsim.AGENTS`.
    start : float or AtThreshold
        Start [years from baseline]. May be negative for a course that began
        before the baseline scan (``limits.EXPOSURE_START_YEARS``). An
        :class:`AtThreshold` starts the course per patient, when her T-score
        reaches a threshold.
    stop : float or None
        Stop [years from baseline], after ``start``. ``None`` or ``math.inf``
        means the course continues past any horizon. Not allowed with an
        event start (use ``duration``).
    duration : float or None
        Length of the course [years], instead of ``stop``. After
        construction it always holds ``stop - start`` for a fixed start
        (``inf`` if the course never stops).
    """

    agent: str
    start: float | AtThreshold = 0.0
    stop: float | None = None
    duration: float | None = None

    def __post_init__(self) -> None:
        check_choice("agent", self.agent, tuple(AGENTS))
        if self.duration is not None:
            if self.stop is not None:
                raise ValueError(f"give stop or duration for {self.agent}, not both")
            duration = as_finite_float(f"duration of {self.agent}", self.duration)
            if duration <= 0:
                raise ValueError(f"duration of {self.agent} must be a positive number of years, got {duration:g}")
        else:
            duration = math.inf
        if isinstance(self.start, AtThreshold):
            if self.stop is not None:
                raise ValueError(
                    f"{self.agent} starts on an event, so its stop is not a fixed time: give duration instead"
                )
            object.__setattr__(self, "stop", math.inf)
            object.__setattr__(self, "duration", duration)
            return
        start = as_finite_float(f"start of {self.agent}", self.start)
        check_range(f"start of {self.agent}", np.asarray(start), *limits.EXPOSURE_START_YEARS, unit="years")
        if self.duration is not None:
            stop = start + duration
            if not stop > start:
                raise ValueError(
                    f"duration of {self.agent} ({duration:g} years) is too short to end after its start "
                    f"({start:g} years) in floating point"
                )
        elif self.stop is None:
            stop = math.inf
        else:
            if isinstance(self.stop, (float, np.floating)) and self.stop == math.inf:
                stop = math.inf  # never stops, as None
            else:
                stop = as_finite_float(f"stop of {self.agent}", self.stop)
            if stop <= start:
                raise ValueError(f"stop of {self.agent} ({stop:g} years) must come after its start ({start:g} years)")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "stop", stop)
        object.__setattr__(self, "duration", stop - start)

    @property
    def is_event(self) -> bool:
        """True if the course starts on an event (:class:`AtThreshold`) rather than at a fixed time."""
        return isinstance(self.start, AtThreshold)


class Regimen:
    """A set of exposures.

    Parameters
    ----------
    exposures : iterable of Exposure
        Courses of the agents, at most :data:`MAX_EXPOSURES`. Courses of the
        same agent must not overlap; courses of different agents may (their
        effects combine by adding rates, see :mod:`bmdsim.agents`).

    Examples
    --------
    >>> Regimen([Exposure("aromatase_inhibitor", start=0, stop=5)])
    Regimen([Exposure(agent='aromatase_inhibitor', start=0.0, stop=5.0)])
    """

    def __init__(self, exposures: Iterable[Exposure] = ()) -> None:
        if isinstance(exposures, Exposure):
            exposures = [exposures]
        if isinstance(exposures, (str, bytes)) or not isinstance(exposures, Iterable):
            raise TypeError(
                f"exposures must be an iterable of bmdsim.Exposure (or one Exposure), got {type(exposures).__name__}"
            )
        exposures = bounded_items(
            exposures, MAX_EXPOSURES, f"exposures: a regimen takes at most {MAX_EXPOSURES} courses, got more"
        )
        for i, e in enumerate(exposures):
            if not isinstance(e, Exposure):
                raise TypeError(f"exposures[{i}] must be a bmdsim.Exposure, got {type(e).__name__}")
        ordered = sorted((e for e in exposures if not e.is_event), key=lambda e: (e.agent, e.start))
        for a, b in zip(ordered, ordered[1:], strict=False):
            if a.agent == b.agent and b.start < a.stop:
                raise ValueError(
                    f"exposures of {a.agent} overlap: [{a.start:g}, {a.stop:g}) and [{b.start:g}, {b.stop:g}) "
                    "years; courses of the same agent must not overlap"
                )
        # Fixed-time courses by start, then event-started ones in the order given (they resolve in that order).
        fixed = sorted((e for e in exposures if not e.is_event), key=lambda e: (e.start, e.agent))
        self._exposures = tuple(fixed + [e for e in exposures if e.is_event])

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
        times = {t for e in self._exposures if not e.is_event for t in (e.start, e.stop) if math.isfinite(t)}
        return tuple(sorted(times))
